"""Scorers, evaluation of trained models, prediction files."""
