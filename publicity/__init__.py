"""Publicity: pre-appointment notices (任前公示), their legal period, corrections and outcomes."""
