"""dlint: a Dockerfile linter, autofixer and image measurer for machine-learning images."""

__version__ = "0.1.0"
