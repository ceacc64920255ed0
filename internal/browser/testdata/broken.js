// Deliberate errors for the detectors' self-test: a console error, then an
// exception nothing catches.
"use strict";
console.error("deliberate console error", 42);
throw new Error("deliberate uncaught exception");
