package root

import "github.com/asynkron/protoactor-go/actor"

// Messages of the root actor. They stay in this package: only the root's facade and tests
// send them.
type (
	// SpawnChild asks the root to spawn Props as its child Name (and register Alias, when set,
	// for the child's process). Reply: ChildSpawned.
	SpawnChild struct {
		Props *actor.Props
		Name  string
		Alias string
	}
	// ChildSpawned carries the new child's PID or why it could not be spawned.
	ChildSpawned struct {
		PID *actor.PID
		Err error
	}
	// ChildrenRequest asks for the children. Reply: ChildrenResponse.
	ChildrenRequest struct{}
	// ChildrenResponse lists the children in order of spawn.
	ChildrenResponse struct{ Children []Child }
	// Child is one child: its name, PID and how many times it was restarted.
	Child struct {
		Name     string
		PID      *actor.PID
		Restarts int
	}
)

// Crash is the fault-injection hook of supervision tests: with Config.FaultHooks set, every
// child panics when it receives one, as if a bug hit it. Only in-process code can send it (it
// has no wire codec).
type Crash struct{ Reason string }
