"""Engagement figures and marketing reports."""
