//! `selfscrape replay`: run the module over logs and report what it saves.
