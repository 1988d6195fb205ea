package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

// BandExperimenter is OFPMBT_EXPERIMENTER.
const BandExperimenter pipeline.BandType = 0xffff

const meterFlagsKnown = pipeline.MeterKbps | pipeline.MeterPktps | pipeline.MeterBurst | pipeline.MeterStats

func badMeter(code uint16, format string, args ...any) *pipeline.Error {
	return errf(pipeline.ErrMeterModFailed, code, format, args...)
}

// DecodeMeterMod decodes the body of an OFPT_METER_MOD.
func DecodeMeterMod(body []byte) (*pipeline.MeterMod, error) {
	if len(body) < 8 {
		return nil, badLen("meter_mod body of %d bytes, want at least 8", len(body))
	}
	mm := &pipeline.MeterMod{
		Command: pipeline.MeterModCommand(be16(body)),
		Flags:   be16(body[2:]),
		ID:      be32(body[4:]),
	}
	if mm.Command > pipeline.MeterDelete {
		return nil, badMeter(pipeline.MeterModBadCommand, "meter_mod command %d", mm.Command)
	}
	if mm.Flags&^meterFlagsKnown != 0 {
		return nil, badMeter(pipeline.MeterModBadFlags, "meter flags %#x", mm.Flags)
	}
	if mm.ID == 0 || mm.ID > pipeline.MeterMax && mm.ID != pipeline.MeterSlowpath && mm.ID != pipeline.MeterController &&
		!(mm.Command == pipeline.MeterDelete && mm.ID == pipeline.MeterAll) {
		return nil, badMeter(pipeline.MeterModInvalidMeter, "meter id %#x", mm.ID)
	}
	bands, err := DecodeBands(body[8:])
	if err != nil {
		return nil, err
	}
	mm.Bands = bands
	return mm, nil
}

// DecodeBands decodes a list of meter bands.
func DecodeBands(b []byte) ([]pipeline.Band, error) {
	var out []pipeline.Band
	for len(b) > 0 {
		if len(b) < 16 {
			return nil, badLen("meter band truncated: %d bytes", len(b))
		}
		t, n := pipeline.BandType(be16(b)), int(be16(b[2:]))
		if n < 16 || n%8 != 0 || n > len(b) {
			return nil, badLen("meter band length %d invalid (%d bytes left)", n, len(b))
		}
		switch t {
		case pipeline.BandDrop, pipeline.BandDSCPRemark:
		default:
			return nil, badMeter(pipeline.MeterModBadBand, "meter band type %d not supported", t)
		}
		if n != 16 {
			return nil, badLen("meter band type %d: length %d, want 16", t, n)
		}
		band := pipeline.Band{Type: t, Rate: be32(b[4:]), BurstSize: be32(b[8:])}
		if t == pipeline.BandDSCPRemark {
			band.PrecLevel = b[12]
		}
		out = append(out, band)
		b = b[n:]
	}
	return out, nil
}

// AppendMeterMod appends the body of an OFPT_METER_MOD.
func AppendMeterMod(b []byte, mm *pipeline.MeterMod) []byte {
	b = put16(b, uint16(mm.Command))
	b = put16(b, mm.Flags)
	b = put32(b, mm.ID)
	return AppendBands(b, mm.Bands)
}

// AppendBands appends a list of meter bands.
func AppendBands(b []byte, bands []pipeline.Band) []byte {
	for _, band := range bands {
		b = put16(b, uint16(band.Type))
		b = put16(b, 16)
		b = put32(b, band.Rate)
		b = put32(b, band.BurstSize)
		b = append(b, band.PrecLevel, 0, 0, 0)
	}
	return b
}
