package openflow

import (
	"github.com/netrack/openflow/ofp"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// multipart answers an OFPT_MULTIPART_REQUEST. Replies larger than one
// message are split with OFPMPF_REPLY_MORE, entries kept whole.
func (c *conn) multipart(h ofwire.Header, body []byte) error {
	mp, err := ofwire.DecodeMultipart(body)
	if err != nil {
		return err
	}
	entries, err := c.multipartEntries(mp)
	if err != nil {
		return err
	}
	c.log.Debug("multipart request", zap.Uint16(logKeyMultType, uint16(mp.Type)), zap.Uint32(logKeyXid, h.Xid), zap.Int(logKeyEntries, len(entries)))
	return c.send(ofwire.SplitMultipartReply(h.Xid, mp.Type, entries, c.s.cfg.MaxReplyLen)...)
}

func (c *conn) multipartEntries(mp ofwire.Multipart) ([][]byte, error) {
	dp := c.s.cfg.Datapath
	one := func(b []byte) [][]byte { return [][]byte{b} }
	switch mp.Type {
	case ofp.MultipartTypeDescription:
		if err := bodyless(mp.Body, "desc request"); err != nil {
			return nil, err
		}
		return one(ofwire.AppendDesc(nil, &c.s.cfg.Desc)), nil
	case ofp.MultipartTypeFlow:
		f, err := ofwire.DecodeFlowStatsRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, fs := range dp.FlowStats(f) {
			if fs.Flow == nil {
				continue
			}
			w := flowStatsWire(&fs)
			out = append(out, ofwire.AppendFlowStats(nil, &w))
		}
		return out, nil
	case ofp.MultipartTypeAggregate:
		f, err := ofwire.DecodeFlowStatsRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var a ofwire.AggregateStats
		for _, fs := range dp.FlowStats(f) {
			a.Packets += fs.Packets
			a.Bytes += fs.Bytes
			a.Flows++
		}
		return one(ofwire.AppendAggregateStats(nil, &a)), nil
	case ofp.MultipartTypeTable:
		if err := bodyless(mp.Body, "table stats request"); err != nil {
			return nil, err
		}
		var out [][]byte
		for _, t := range dp.TableStats() {
			out = append(out, ofwire.AppendTableStats(nil, &t))
		}
		return out, nil
	case ofp.MultipartTypePortStats:
		port, err := ofwire.DecodePortRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, p := range dp.PortStats(port) {
			out = append(out, ofwire.AppendPortStats(nil, &p))
		}
		return out, nil
	case ofp.MultipartTypeQueue:
		if _, err := ofwire.DecodePortRequest(mp.Body); err != nil {
			return nil, err
		}
		return nil, nil // no queues
	case ofp.MultipartTypeGroup:
		id, err := ofwire.DecodePortRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, g := range dp.GroupStats(id) {
			out = append(out, ofwire.AppendGroupStats(nil, &ofwire.GroupStats{
				GroupID: g.GroupID, RefCount: g.RefCount, Packets: g.Packets, Bytes: g.Bytes,
				Duration: g.Duration, Buckets: countersWire(g.Buckets),
			}))
		}
		return out, nil
	case ofp.MultipartTypeGroupDescription:
		if err := bodyless(mp.Body, "group desc request"); err != nil {
			return nil, err
		}
		var out [][]byte
		for _, g := range dp.Groups() {
			out = append(out, ofwire.AppendGroupDesc(nil, g))
		}
		return out, nil
	case ofp.MultipartTypeGroupFeatures:
		if err := bodyless(mp.Body, "group features request"); err != nil {
			return nil, err
		}
		return one(ofwire.AppendGroupFeatures(nil, &groupFeatures)), nil
	case ofp.MultipartTypeMeter:
		id, err := ofwire.DecodePortRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, m := range dp.MeterStats(id) {
			out = append(out, ofwire.AppendMeterStats(nil, &ofwire.MeterStats{
				MeterID: m.MeterID, FlowCount: m.FlowCount, PacketsIn: m.PacketsIn, BytesIn: m.BytesIn,
				Duration: m.Duration, Bands: countersWire(m.Bands),
			}))
		}
		return out, nil
	case ofp.MultipartTypeMeterConfig:
		id, err := ofwire.DecodePortRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, m := range dp.Meters(id) {
			out = append(out, ofwire.AppendMeterConfig(nil, m))
		}
		return out, nil
	case ofp.MultipartTypeMeterFeatures:
		if err := bodyless(mp.Body, "meter features request"); err != nil {
			return nil, err
		}
		return one(ofwire.AppendMeterFeatures(nil, &meterFeatures)), nil
	case ofp.MultipartTypeTableFeatures:
		if len(mp.Body) != 0 {
			return nil, pipeline.Errorf(pipeline.ErrTableFeaturesFailed, ofwire.TableFeaturesEperm, "setting table features is not supported")
		}
		n := dp.Features().NTables
		var out [][]byte
		for t := 0; t < int(n); t++ {
			tf := tableFeatures(uint8(t), n, c.s.cfg.MaxFlowEntries)
			out = append(out, ofwire.AppendTableFeatures(nil, &tf))
		}
		return out, nil
	case ofp.MultipartTypePortDescription:
		if err := bodyless(mp.Body, "port desc request"); err != nil {
			return nil, err
		}
		var out [][]byte
		for _, p := range dp.Ports() {
			w := portWire(p)
			out = append(out, ofwire.AppendPort(nil, &w))
		}
		return out, nil
	case ofp.MultipartTypeExperimenter:
		return nil, pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadExperimenter, "experimenter multipart not supported")
	}
	return nil, pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadMultipart, "multipart type %d unknown", mp.Type)
}
