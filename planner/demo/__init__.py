"""The generated demo county and benchmark networks (``county``); not a real place."""
