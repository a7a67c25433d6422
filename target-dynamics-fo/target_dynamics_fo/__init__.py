"""target-dynamics-fo."""
