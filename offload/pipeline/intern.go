package pipeline

import (
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"weak"
)

// Flow entries share their instructions: controllers give thousands of
// rules the same few action lists ("output:2"), and a rule's instructions
// with their action lists are 150 bytes or more of its own. internInstr
// returns the one immutable copy of in that rules hold, made when no rule
// holds an equal one. The table holds it weakly: it goes when the last
// rule holding it does.
var interned struct {
	mu sync.Mutex
	m  map[uint64]weak.Pointer[Instructions]
}

var internSeed = maphash.MakeSeed()

// internInstr returns the shared copy of in (which it does not keep).
func internInstr(in *Instructions) *Instructions {
	h := instrHash(in)
	interned.mu.Lock()
	defer interned.mu.Unlock()
	if wp, ok := interned.m[h]; ok {
		if p := wp.Value(); p != nil && p.equal(in) {
			return p
		}
		if wp.Value() != nil {
			return cloneInstructions(in) // another list has this hash: not shared
		}
	}
	p := cloneInstructions(in)
	wp := weak.Make(p)
	if interned.m == nil {
		interned.m = make(map[uint64]weak.Pointer[Instructions])
	}
	interned.m[h] = wp
	runtime.AddCleanup(p, func(h uint64) {
		interned.mu.Lock()
		if interned.m[h] == wp {
			delete(interned.m, h)
		}
		interned.mu.Unlock()
	}, h)
	return p
}

func instrHash(in *Instructions) uint64 {
	var h maphash.Hash
	h.SetSeed(internSeed)
	maphash.WriteComparable(&h, in.scalars())
	for _, list := range [][]Action{in.Apply, in.Write} {
		maphash.WriteComparable(&h, len(list))
		for _, a := range list {
			maphash.WriteComparable(&h, a)
		}
	}
	return h.Sum64()
}

// instrScalars are the fields of Instructions but the action lists.
type instrScalars struct {
	meter                                        uint32
	hasApply, clear, hasWrite, writeMetadata, gt bool
	metadata, metadataMask                       uint64
	gotoTable                                    uint8
}

func (in *Instructions) scalars() instrScalars {
	return instrScalars{in.Meter, in.HasApply, in.Clear, in.HasWrite, in.WriteMetadata, in.Goto, in.Metadata, in.MetadataMask, in.GotoTable}
}

// equal reports whether in and o are the same instructions.
func (in *Instructions) equal(o *Instructions) bool {
	return in.scalars() == o.scalars() && slices.Equal(in.Apply, o.Apply) && slices.Equal(in.Write, o.Write)
}

// cloneInstructions returns a copy of in that shares nothing with it.
func cloneInstructions(in *Instructions) *Instructions {
	c := *in
	c.Apply = slices.Clip(slices.Clone(in.Apply))
	c.Write = slices.Clip(slices.Clone(in.Write))
	return &c
}
