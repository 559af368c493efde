package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/httpserve"
)

// State is what a scrape reads of the peer (see Sources). A zero field is exported as 0.
type State struct {
	Pins          int64                       // live pins in the pinset
	Tracked       map[api.TrackerStatus]int64 // pins the tracker holds, by status
	QueuePriority int64                       // items waiting in the priority queue
	QueueNormal   int64                       // items waiting in the normal queue
	Peers         int                         // cluster members this peer sees
	Alerts        int                         // recent alerts (GET /health/alerts)
	StoreLSM      int64                       // Badger's LSM tree on disk, bytes
	StoreVlog     int64                       // Badger's value log on disk, bytes
	Connections   int                         // peers this host holds a connection to
	Links         int                         // of those, the membership's links
}

// Sources reads the peer's state for a scrape. Read must be safe for concurrent use and honour
// ctx; it runs at most once per reporting_interval.
type Sources struct {
	Read func(ctx context.Context) (State, error)
}

// trackedStatuses are the per-status gauges, with IPFS Cluster's names. Pinned is not among
// them: the tracker forgets a pin once it is pinned, and counting those would need the IPFS
// node's pin list at every scrape.
var trackedStatuses = []api.TrackerStatus{
	api.TrackerStatusPinning, api.TrackerStatusPinQueued, api.TrackerStatusPinError,
	api.TrackerStatusUnpinning, api.TrackerStatusUnpinQueued, api.TrackerStatusUnpinError,
	api.TrackerStatusClusterError, api.TrackerStatusUnexpectedlyUnpinned,
}

// stateCollector exports State, read through a cache that lives reportingInterval.
type stateCollector struct {
	src      Sources
	interval time.Duration
	log      *slog.Logger

	pins, tracked, peers, alerts *prometheus.Desc
	byStatus                     map[api.TrackerStatus]*prometheus.Desc
	queue, store                 *prometheus.Desc
	conns                        *prometheus.Desc

	mu     sync.Mutex
	cached State
	at     time.Time
	err    error
}

func newStateCollector(src Sources, interval time.Duration, log *slog.Logger) *stateCollector {
	c := &stateCollector{
		src: src, interval: interval, log: log,
		pins:    prometheus.NewDesc("ipfscluster_cluster_pin_count", "Pins in the cluster's pinset.", nil, nil),
		tracked: prometheus.NewDesc("ipfscluster_pintracker_pin_count", "Pins the tracker holds: queued, in progress or failed.", nil, nil),
		peers:   prometheus.NewDesc("ipfscluster_cluster_peers", "Cluster peers this peer sees.", nil, nil),
		alerts:  prometheus.NewDesc("pincluster_alerts", "Recent alerts, as GET /health/alerts lists them.", nil, nil),
		queue:   prometheus.NewDesc("pincluster_queue_depth", "Items waiting in the pin tracker's queues, by queue (priority, normal).", []string{"queue"}, nil),
		store:   prometheus.NewDesc("pincluster_store_bytes", "Size of the pinset store on disk, by part (lsm, vlog).", []string{"part"}, nil),
		conns: prometheus.NewDesc("pincluster_connections", "Peers this peer's libp2p host is connected to, by kind: all, or the links the membership keeps (cluster.connection_manager).",
			[]string{"kind"}, nil),
		byStatus: map[api.TrackerStatus]*prometheus.Desc{},
	}
	for _, s := range trackedStatuses {
		c.byStatus[s] = prometheus.NewDesc("ipfscluster_pintracker_"+s.String()+"_count",
			"Pins allocated to this peer with status "+s.String()+".", nil, nil)
	}
	return c
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pins, c.tracked, c.peers, c.alerts, c.queue, c.store, c.conns} {
		ch <- d
	}
	for _, s := range trackedStatuses {
		ch <- c.byStatus[s]
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.read()
	if err != nil {
		return // logged by read; the event metrics are still served
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.pins, float64(st.Pins))
	var tracked int64
	for s, n := range st.Tracked {
		if s != api.TrackerStatusRemote {
			tracked += n
		}
	}
	gauge(c.tracked, float64(tracked))
	for _, s := range trackedStatuses {
		gauge(c.byStatus[s], float64(st.Tracked[s]))
	}
	gauge(c.peers, float64(st.Peers))
	gauge(c.alerts, float64(st.Alerts))
	gauge(c.queue, float64(st.QueuePriority), "priority")
	gauge(c.queue, float64(st.QueueNormal), "normal")
	gauge(c.store, float64(st.StoreLSM), "lsm")
	gauge(c.store, float64(st.StoreVlog), "vlog")
	gauge(c.conns, float64(st.Connections), "all")
	gauge(c.conns, float64(st.Links), "links")
}

// read returns the cached state, reading it again once it is older than the interval. Scrapes
// that arrive meanwhile wait for the one reading.
func (c *stateCollector) read() (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.interval {
		return c.cached, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.src.Read(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the peer's state for a scrape", "err", err)
	}
	c.cached, c.err, c.at = st, err, time.Now()
	return st, err
}

// Server serves /metrics for one peer.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	life    *httpserve.Server
}

// New builds the endpoint of a peer: the event metrics, the peer's state read from src, and
// Go runtime and process metrics. It does not listen until Start.
func New(cfg Config, src Sources, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src.Read == nil {
		return nil, errors.New("telemetry: Sources.Read is required")
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "metrics")
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStateCollector(src, cfg.ReportingInterval.D(), log),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{events, reg}, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	life := httpserve.New("metrics", "observations.metrics", "another daemon", srv, log)
	return &Server{cfg: cfg, log: log, handler: mux, life: life}, nil
}

// Handler is the /metrics handler (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on prometheus_endpoint and serves in the background.
func (s *Server) Start() error {
	if err := s.life.Start(s.cfg.PrometheusEndpoint); err != nil {
		return fmt.Errorf("%w (observations.metrics.prometheus_endpoint)", err)
	}
	s.log.Info("Prometheus metrics served", "url", "http://"+s.life.NetAddr()+"/metrics")
	return nil
}

// Addr is the bound host:port ("" before Start).
func (s *Server) Addr() string { return s.life.NetAddr() }

// Shutdown stops the endpoint (a scrape in flight is cut after ctx).
func (s *Server) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }

// Parts are the peer's components a scrape reads; FromParts turns them into Sources. Each is
// a counter its owner keeps or a short list, so a reading never scans the pinset.
type Parts struct {
	Store interface {
		CountPins() (int, error)
		DiskSize() (lsm, vlog int64)
	}
	Members func(ctx context.Context) int
	Alerts  func(ctx context.Context) ([]api.Alert, error)
	// Tracker, when set, adds this peer's pins by status and the queue depths.
	Tracker func(ctx context.Context) (byStatus map[api.TrackerStatus]int64, priority, normal int64, err error)
	// Connections, when set, counts the host's connected peers and the links among them.
	Connections func() (all, links int)
}

// FromParts reads State from the peer's parts.
func FromParts(p Parts) Sources {
	return Sources{Read: func(ctx context.Context) (State, error) {
		pins, err := p.Store.CountPins()
		if err != nil {
			return State{}, err
		}
		st := State{Pins: int64(pins), Peers: p.Members(ctx)}
		st.StoreLSM, st.StoreVlog = p.Store.DiskSize()
		if p.Connections != nil {
			st.Connections, st.Links = p.Connections()
		}
		alerts, err := p.Alerts(ctx)
		st.Alerts = len(alerts)
		if err == nil && p.Tracker != nil {
			st.Tracked, st.QueuePriority, st.QueueNormal, err = p.Tracker(ctx)
		}
		return st, err
	}}
}
