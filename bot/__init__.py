"""branchbot: a Telegram bot that runs a Party branch's annual plan."""
