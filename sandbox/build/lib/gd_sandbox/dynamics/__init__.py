"""Local HTTPS simulator of Microsoft Entra ID + Dynamics 365 F&O OData (docs/CONTRACTS.md §3)."""

from __future__ import annotations

from .server import DynamicsSandbox

__all__ = ["DynamicsSandbox"]
