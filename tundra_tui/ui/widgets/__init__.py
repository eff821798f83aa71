"""One widget per file: the six panes, the status bar and the replay timeline."""
