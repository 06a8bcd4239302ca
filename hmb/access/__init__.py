"""Accounts and roles, and the scope (role, counties) that every query runs under."""
