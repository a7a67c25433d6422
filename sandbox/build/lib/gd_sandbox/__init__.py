"""gusto-dynamics-sandbox."""
