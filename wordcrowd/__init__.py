"""wordcrowd: crowdsourced keyword-spotting data and the tiny models made from it."""

__version__ = "0.1.0"
