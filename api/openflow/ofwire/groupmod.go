package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

const bucketFixedLen = 16

func badGroup(code uint16, format string, args ...any) *pipeline.Error {
	return errf(pipeline.ErrGroupModFailed, code, format, args...)
}

// DecodeGroupMod decodes the body of an OFPT_GROUP_MOD.
func DecodeGroupMod(body []byte) (*pipeline.GroupMod, error) {
	if len(body) < 8 {
		return nil, badLen("group_mod body of %d bytes, want at least 8", len(body))
	}
	gm := &pipeline.GroupMod{
		Command: pipeline.GroupModCommand(be16(body)),
		Type:    pipeline.GroupType(body[2]),
		ID:      be32(body[4:]),
	}
	if gm.Command > pipeline.GroupDelete {
		return nil, badGroup(pipeline.GroupModBadCommand, "group_mod command %d", gm.Command)
	}
	if gm.Command != pipeline.GroupDelete && gm.Type > pipeline.GroupTypeFastFailover {
		return nil, badGroup(pipeline.GroupModBadType, "group type %d", gm.Type)
	}
	if gm.ID > pipeline.GroupMax && !(gm.Command == pipeline.GroupDelete && gm.ID == pipeline.GroupAll) {
		return nil, badGroup(pipeline.GroupModInvalidGroup, "group id %#x", gm.ID)
	}
	buckets, err := DecodeBuckets(body[8:])
	if err != nil {
		return nil, err
	}
	gm.Buckets = buckets
	return gm, nil
}

// DecodeBuckets decodes a list of ofp_bucket.
func DecodeBuckets(b []byte) ([]pipeline.Bucket, error) {
	var out []pipeline.Bucket
	for len(b) > 0 {
		if len(b) < bucketFixedLen {
			return nil, badGroup(pipeline.GroupModBadBucket, "bucket truncated: %d bytes", len(b))
		}
		n := int(be16(b))
		if n < bucketFixedLen || n%8 != 0 || n > len(b) {
			return nil, badGroup(pipeline.GroupModBadBucket, "bucket length %d invalid (%d bytes left)", n, len(b))
		}
		acts, err := DecodeActions(b[bucketFixedLen:n])
		if err != nil {
			return nil, err
		}
		out = append(out, pipeline.Bucket{
			Weight:     be16(b[2:]),
			WatchPort:  be32(b[4:]),
			WatchGroup: be32(b[8:]),
			Actions:    acts,
		})
		b = b[n:]
	}
	return out, nil
}

// AppendGroupMod appends the body of an OFPT_GROUP_MOD.
func AppendGroupMod(b []byte, gm *pipeline.GroupMod) []byte {
	b = put16(b, uint16(gm.Command))
	b = append(b, uint8(gm.Type), 0)
	b = put32(b, gm.ID)
	return AppendBuckets(b, gm.Buckets)
}

// AppendBuckets appends a list of ofp_bucket.
func AppendBuckets(b []byte, buckets []pipeline.Bucket) []byte {
	for i := range buckets {
		bk := &buckets[i]
		start := len(b)
		b = put16(b, 0)
		b = put16(b, bk.Weight)
		b = put32(b, bk.WatchPort)
		b = put32(b, bk.WatchGroup)
		b = appendZeros(b, 4)
		b = AppendActions(b, bk.Actions)
		n := len(b) - start
		b[start], b[start+1] = byte(n>>8), byte(n)
	}
	return b
}
