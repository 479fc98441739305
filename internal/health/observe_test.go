package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// TestObserveOnError drives passive health without running checks: the
// health a server keeps after error-limit observed errors, per on-error
// mode (rise 2, fall 3: health 4 is full, UP while health >= 2).
func TestObserveOnError(t *testing.T) {
	for _, tc := range []struct {
		mode config.OnError
		// events is the status after each action of 2 errors (limit 2).
		want []string
	}{
		{config.OnErrorFastInter, []string{"3/3 UP", "3/3 UP"}},
		{config.OnErrorFailCheck, []string{"2/3 UP", "1/3 UP", "0/2 DOWN*"}},
		{config.OnErrorSuddenDeath, []string{"1/3 UP", "0/2 DOWN*"}},
		{config.OnErrorMarkDown, []string{"0/2 DOWN*"}},
	} {
		var got []string
		var last Event
		c := New(Params{Rise: 2, Fall: 3, Observe: config.ObserveLayer4, OnError: tc.mode, ErrorLimit: 2}, func(ev Event) {
			s := statusPart(ev)
			if ev.Changed {
				s += "*"
			}
			got = append(got, s)
			last = ev
		})
		for range len(tc.want) {
			c.Observe(ObsL4Err)
			c.Observe(ObsL4Err)
		}
		if tc.mode == config.OnErrorFastInter {
			// No check result: the only effect is the shorter interval.
			if len(got) != 0 || len(c.fast) != 1 {
				t.Errorf("fastinter: events %v, fast %d", got, len(c.fast))
			}
		} else if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("on-error %v: got %v, want %v", tc.mode, got, tc.want)
		}
		if n := c.HanaFail(); n != int64(len(tc.want)) {
			t.Errorf("on-error %v: hanafail %d, want %d", tc.mode, n, len(tc.want))
		}
		if tc.mode == config.OnErrorMarkDown {
			r := last.Result
			if r.Status != "HANA" || r.Desc != "Health analyze" || r.Info != "Detected 2 consecutive errors, last one was: L4 unsuccessful connection" {
				t.Errorf("result %+v", r)
			}
			// As HAProxy's line: no check duration for observed errors.
			want := `Server b1/s1 is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: L4 unsuccessful connection". 1 active and 0 backup servers left. 1 sessions active, 0 requeued, 0 remaining in queue.`
			if got := DownLine("b1", "s1", false, &r, 1, 0, 1, 0, 0); got != want {
				t.Errorf("DownLine:\n got  %s\n want %s", got, want)
			}
		}
	}
}

// TestObserveCounting: which outcomes count in each mode, and that a
// success clears the run of errors.
func TestObserveCounting(t *testing.T) {
	for _, tc := range []struct {
		mode config.Observe
		obs  []Observation
		fail int64 // on-error actions with error-limit 2
	}{
		{config.ObserveLayer4, []Observation{ObsL4Err, ObsL4OK, ObsL4Err, ObsL4OK}, 0},
		{config.ObserveLayer4, []Observation{ObsL4Err, ObsL4Err, ObsL4Err, ObsL4Err}, 2},
		{config.ObserveLayer4, []Observation{ObsHTTPStatus, ObsHTTPStatus, ObsReadTimeout}, 0}, // HTTP is layer 7
		{config.ObserveLayer7, []Observation{ObsHTTPStatus, ObsHTTPOK, ObsReadTimeout}, 0},
		{config.ObserveLayer7, []Observation{ObsHTTPStatus, ObsL4OK, ObsReadTimeout}, 1}, // a connection proves nothing at layer 7
		{config.ObserveLayer7, []Observation{ObsL4Err, ObsHTTPHeaders}, 1},
		{config.ObserveNone, []Observation{ObsL4Err, ObsL4Err}, 0},
	} {
		c := New(Params{Rise: 2, Fall: 3, Observe: tc.mode, OnError: config.OnErrorFastInter, ErrorLimit: 2}, nil)
		for _, o := range tc.obs {
			c.Observe(o)
		}
		if n := c.HanaFail(); n != tc.fail {
			t.Errorf("observe %v %v: %d on-error actions, want %d", tc.mode, tc.obs, n, tc.fail)
		}
	}
	for status, want := range map[int]Observation{200: ObsHTTPOK, 100: ObsHTTPOK, 404: ObsHTTPOK, 499: ObsHTTPOK,
		500: ObsHTTPStatus, 501: ObsHTTPOK, 502: ObsHTTPStatus, 503: ObsHTTPStatus, 505: ObsHTTPOK, 599: ObsHTTPStatus} {
		if got := HTTPObservation(status); got != want {
			t.Errorf("status %d: %v, want %v", status, got, want)
		}
	}
}

// TestObserveForcesFastInter: after on-error the next check comes at
// fastinter even when inter is long.
func TestObserveForcesFastInter(t *testing.T) {
	addr := server(t, func(c net.Conn) {})
	checks := make(chan Event, 16)
	c := New(Params{Addr: addr, Rise: 1, Fall: 1, Inter: time.Hour, FastInter: 20 * time.Millisecond,
		Observe: config.ObserveLayer4, OnError: config.OnErrorFastInter, ErrorLimit: 1}, func(ev Event) { checks <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c.Observe(ObsL4Err)
	select {
	case ev := <-checks:
		if ev.Result.Status != "L4OK" {
			t.Errorf("check %+v", ev.Result)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no check at fastinter after observed errors (inter is 1h)")
	}
}

// TestRunningOnBackup: state change lines say so when only backups are
// left, as HAProxy's (observed on 2.6.12).
func TestRunningOnBackup(t *testing.T) {
	r := &Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: "Connection refused"}
	if got, want := DownLine("b1", "s1", false, r, 0, 1, 1, 0, 0), `Server b1/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 1 backup servers left. Running on backup. 1 sessions active, 0 requeued, 0 remaining in queue.`; got != want {
		t.Errorf("DownLine:\n got  %s\n want %s", got, want)
	}
	if got, want := UpLine("b1", "bk", true, nil, 0, 1, 0, 0), "Backup Server b1/bk is UP. 0 active and 1 backup servers online. Running on backup. 0 sessions requeued, 0 total in queue."; got != want {
		t.Errorf("UpLine:\n got  %s\n want %s", got, want)
	}
}

// TestBackupCheckLine: backup servers are named so in check lines, as
// HAProxy's (observed on 2.6.12).
func TestBackupCheckLine(t *testing.T) {
	ev := Event{Result: Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: "Connection refused"}, Rise: 1, Fall: 1}
	want := `Health check for backup server b1/s2 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms, status: 0/1 DOWN.`
	if got := CheckLine(Params{Backend: "b1", Server: "s2", Backup: true}, ev); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
