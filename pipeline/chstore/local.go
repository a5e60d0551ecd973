package chstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// LocalServer is a ClickHouse server started as a child process, for the
// zero-setup demo and `run` without an address. Its data lives in Dir.
type LocalServer struct {
	Addr string
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// FindServerBinary returns the command that starts a ClickHouse server, or
// nil when none is on PATH: Debian's clickhouse-server, or the upstream
// multi-call `clickhouse server`.
func FindServerBinary() []string {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}
	}
	return nil
}

// StartLocal starts a server listening on loopback with its data in dir
// (created if needed) and waits until it answers. The caller must Stop it.
func StartLocal(ctx context.Context, dir string) (*LocalServer, error) {
	bin := FindServerBinary()
	if bin == nil {
		return nil, errors.New("no clickhouse-server or clickhouse binary on PATH")
	}
	tcp, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfgPath, []byte(localConfig(dir, tcp, httpPort)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(localUsers), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin[0], append(bin[1:], "--config-file="+cfgPath)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a Ctrl-C meant for us is handled by us, and we
	// stop the server in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %v: %w", bin, err)
	}
	s := &LocalServer{Addr: "127.0.0.1:" + strconv.Itoa(tcp), Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		cfg := DefaultConfig()
		cfg.Addr = s.Addr
		cfg.DialTimeout = time.Second
		st, err := Open(ctx, cfg)
		if err == nil {
			st.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("clickhouse server exited during start-up; see %s", filepath.Join(dir, "log"))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("clickhouse server did not answer within 60 s: %w; see %s", err, filepath.Join(dir, "log"))
		}
	}
}

// Stop terminates the server and waits for it (up to 20 s, then kills it).
func (s *LocalServer) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// localConfig works on 18.16 (root element <yandex>) and on current
// releases, which still accept it.
func localConfig(dir string, tcp, http int) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/server.err.log</errorlog><size>50M</size><count>2</count></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mlock_executable>false</mlock_executable>
</yandex>
`, dir, tcp, http)
}

const localUsers = `<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
