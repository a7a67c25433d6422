"""gusto-dynamics."""
