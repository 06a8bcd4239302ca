"""Helpers that are not the product's runtime: demo data, generated documentation."""
