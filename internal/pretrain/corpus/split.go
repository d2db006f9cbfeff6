package corpus

import "hash/fnv"

// Split puts each document in held with probability heldOut, decided by a
// hash of its source, id and seed alone. A document's side therefore does
// not depend on which other documents are present or their order, so adding
// a source never moves old documents between train and held-out. Because it
// is a per-document coin, the held-out share is close to, not exactly,
// heldOut. heldOut <= 0 holds nothing out; heldOut >= 1 holds out all.
// Both slices keep the input order.
func Split(docs []Doc, heldOut float64, seed uint64) (train, held []Doc) {
	for _, d := range docs {
		if unitHash(d, seed) < heldOut {
			held = append(held, d)
		} else {
			train = append(train, d)
		}
	}
	return train, held
}

// unitHash maps a document to [0, 1).
func unitHash(d Doc, seed uint64) float64 {
	h := fnv.New64a()
	h.Write([]byte(d.Source))
	h.Write([]byte{0})
	h.Write([]byte(d.ID))
	// FNV alone leaves nearby ids correlated in the high bits; the splitmix64
	// finaliser spreads them, and mixes in the seed.
	x := h.Sum64() ^ seed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
