"""Proactive sweeps: a Scrapy crawl of Kaznet seeded from confirmed cases (issue 8, in progress)."""
