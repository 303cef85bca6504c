"""Geckoboard: the Datasets API a team's KRs are pushed to (`client.py`)."""
