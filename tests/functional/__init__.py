"""Real-browser journeys: headless Chromium against the portal served by gunicorn."""
