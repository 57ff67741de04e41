"""One module per AWS technology; ``registry`` maps a manifest ``action`` to its adapter."""
