"""End-to-end tests of the web app in a real headless Chromium, and the seed they share."""
