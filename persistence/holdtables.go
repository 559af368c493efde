package persistence

import (
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
)

// HoldTables keeps the store's tables from being deleted (and unmapped) until release is
// called, and returns the paths of the tables it holds. actors/memtrim drops the resident
// pages of mapped tables with MADV_DONTNEED, which on memory mapped anew at the same address
// (a table compacted away and unmapped meanwhile, its addresses given to anonymous memory)
// would discard data; it advises only the tables held here.
//
// An iterator holds a reference on every table of every level when it is made, and Badger
// deletes a table only once no reference is left. A table listed both before and after the
// iterator was made was in the levels when it was made (a table leaves them once, for good):
// those are the held ones.
func (s *Store) HoldTables() (held map[string]bool, release func(), err error) {
	if err := s.enter(); err != nil {
		return nil, nil, err
	}
	before := s.db.Tables()
	txn := s.db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{})
	after := s.db.Tables()
	present := make(map[uint64]bool, len(before))
	for _, t := range before {
		present[t.ID] = true
	}
	dir := s.TablesDir()
	held = make(map[string]bool, len(after))
	for _, t := range after {
		if present[t.ID] {
			held[filepath.Clean(table.NewFilename(t.ID, dir))] = true
		}
	}
	return held, func() {
		it.Close()
		txn.Discard()
		s.leave()
	}, nil
}

// TablesDir is the folder of the store's table files as /proc/self/maps names them: absolute,
// symbolic links resolved (actors/memtrim measures and drops the tables mapped from it).
func (s *Store) TablesDir() string {
	dir := s.db.Opts().Dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir
}
