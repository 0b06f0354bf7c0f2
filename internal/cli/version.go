package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// linkedVersion, set at link time with
// -ldflags "-X github.com/scimd/scimd/internal/cli.linkedVersion=v1.2.0", names the version
// of a build that has no module or VCS version to read: a container build, whose context
// has no .git, or a build from a source archive.
var linkedVersion string

// buildVersion is what `scimd version` reports: what an operator quotes in a bug report.
type buildVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// versionOf reads the build information the Go toolchain embeds: the module version (a
// tag such as v1.2.0, a pseudo-version, or "(devel)") and, for binaries built with go
// build or go install in a checkout, the VCS revision and commit time.
func versionOf(info *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || info == nil {
		if linkedVersion != "" {
			v.Version = linkedVersion
		}
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	if linkedVersion != "" && v.Version == "(devel)" {
		v.Version = linkedVersion
	}
	if info.GoVersion != "" {
		v.Go = info.GoVersion
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scimd %s", v.Version)
	if v.Revision != "" {
		detail := []string{"revision " + v.Revision}
		if v.Time != "" {
			detail = append(detail, v.Time)
		}
		if v.Modified {
			detail = append(detail, "with uncommitted changes")
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(detail, ", "))
	}
	fmt.Fprintf(&b, " %s %s", v.Go, v.Platform)
	return b.String()
}

func version(args []string, env Env) error {
	// --db is accepted, and unused, as every command takes it (SCIMD_DB may be set).
	var c common
	fs := newFlags("version", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("usage: scimd version [--json]")
	}
	v := versionOf(debug.ReadBuildInfo())
	if c.json {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintln(env.Stdout, v)
	return nil
}
