"""Contrastive pre-training: entity chains, mined sentence pairs, and the pre-training loop."""
