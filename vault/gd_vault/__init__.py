"""gusto-dynamics-vault."""
