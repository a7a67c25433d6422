"""tap-gusto."""
