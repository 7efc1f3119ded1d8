//! collop-plot (being written).
