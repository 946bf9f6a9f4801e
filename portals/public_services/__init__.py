"""The national public-service portal (demo): a catalogue and the criminal-record certificate."""
