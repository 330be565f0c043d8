//! A WAMR host that runs a filter module the way Fluent Bit's wasm filter does.
