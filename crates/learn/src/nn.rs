//! Multi-layer perceptrons with a hand-written backward pass (being written).
