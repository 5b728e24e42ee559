"""Imports of existing datasets (Speech Commands, Common Voice) as pseudonymous contributors' clips."""
