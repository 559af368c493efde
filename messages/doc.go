// Package messages holds the messages actors exchange, as plain immutable structs named by
// intent (commands imperative, events past tense, queries XxxRequest/XxxResponse), and the
// schemas of what crosses a process: the pinset Op and its wire/storage codec.
package messages
