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
	if mp.Type == ofp.MultipartTypeFlow {
		return c.flowStats(h.Xid, mp.Body)
	}
	entries, err := c.multipartEntries(mp)
	if err != nil {
		return err
	}
	c.log.Debug("multipart request", zap.Uint16(logKeyMultType, uint16(mp.Type)), zap.Uint32(logKeyXid, h.Xid), zap.Int(logKeyEntries, len(entries)))
	return c.send(ofwire.SplitMultipartReply(h.Xid, mp.Type, entries, c.s.cfg.MaxReplyLen)...)
}

// flowStats answers an OFPMP_FLOW request as the datapath walks its
// flows: each reply message is encoded and written as soon as it is full,
// so a dump of any size holds one message and one chunk of flows, and the
// controller reads the first part while the rest is made.
func (c *conn) flowStats(xid uint32, body []byte) error {
	f, err := ofwire.DecodeFlowStatsRequest(body)
	if err != nil {
		return err
	}
	s := ofwire.NewReplyStream(xid, ofp.MultipartTypeFlow, c.s.cfg.MaxReplyLen, func(m []byte) error { return c.send(m) })
	var w ofwire.FlowStats
	err = c.s.cfg.Datapath.FlowStats(f, func(chunk []FlowStat) error {
		for i := range chunk {
			if chunk[i].Flow == nil {
				continue
			}
			w = flowStatsWire(&chunk[i])
			if err := s.Add(ofwire.AppendFlowStats(s.Buf(), &w)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.Close()
	}
	c.log.Debug("multipart request", zap.Uint16(logKeyMultType, uint16(ofp.MultipartTypeFlow)), zap.Uint32(logKeyXid, xid), zap.Int(logKeyEntries, s.Entries()))
	return err
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
	case ofp.MultipartTypeAggregate:
		f, err := ofwire.DecodeFlowStatsRequest(mp.Body)
		if err != nil {
			return nil, err
		}
		var a ofwire.AggregateStats
		dp.FlowStats(f, func(chunk []FlowStat) error {
			for _, fs := range chunk {
				a.Packets += fs.Packets
				a.Bytes += fs.Bytes
				a.Flows++
			}
			return nil
		})
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
