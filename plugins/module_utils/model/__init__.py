"""The variables users give (hardening.yaml): defaults, profiles (profiles.yml) and validation."""
