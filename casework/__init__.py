"""Casework: queues, case states, deadlines, messages, and the supervision dashboard."""
