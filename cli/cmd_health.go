package cli

import (
	"time"
)

// HealthCmd groups the health commands.
type HealthCmd struct {
	Graph   HealthGraphCmd   `cmd:"" help:"Print the cluster connectivity graph (Graphviz dot)."`
	Metrics HealthMetricsCmd `cmd:"" help:"List metric names, or the latest value of a metric on each peer."`
	Alerts  HealthAlertsCmd  `cmd:"" help:"List the alerts raised by expired metrics."`
}

// HealthGraphCmd is `pincluster health graph`.
type HealthGraphCmd struct{}

func (c *HealthGraphCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	graph, err := cl.ConnectGraph(ctx)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(graph)
	}
	writeGraph(g.io.Out, graph)
	return nil
}

// HealthMetricsCmd is `pincluster health metrics [name]`.
type HealthMetricsCmd struct {
	Name string `arg:"" optional:"" help:"Metric name (e.g. freespace, pinqueue, tag:group); omit to list the names."`
}

func (c *HealthMetricsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	if c.Name == "" {
		names, err := cl.MetricNames(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			if g.json() {
				if err := g.printJSON(n); err != nil {
					return err
				}
				continue
			}
			g.printf("%s\n", n)
		}
		return nil
	}
	metrics, err := cl.Metrics(ctx, c.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, m := range metrics {
		if g.json() {
			if err := g.printJSON(m); err != nil {
				return err
			}
			continue
		}
		writeMetric(g.io.Out, m, now)
	}
	return nil
}

// HealthAlertsCmd is `pincluster health alerts`.
type HealthAlertsCmd struct{}

func (c *HealthAlertsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	alerts, err := cl.Alerts(ctx)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if g.json() {
			if err := g.printJSON(a); err != nil {
				return err
			}
			continue
		}
		writeAlert(g.io.Out, a)
	}
	return nil
}
