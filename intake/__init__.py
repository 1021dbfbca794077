"""Intake: the public report form, receipts, reporter follow-up and evidence files."""
