"""``python -m target_dynamics_fo`` runs the target."""

from target_dynamics_fo.target import TargetDynamicsFO

TargetDynamicsFO.cli()
