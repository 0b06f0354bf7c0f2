package main

// Checks of the release files at the repository root that need no tool but Go: the
// platforms .goreleaser.yaml builds, and what the Dockerfile and compose.yaml promise.
// `goreleaser check`, hadolint and docker check more in .ci/run where they are installed.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readRoot(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// yamlList returns the values of the list under key (block "- x" items or a flow
// "[x, y]"), from its first occurrence; found is false without the key.
func yamlList(doc, key string) (values []string, found bool) {
	lines := strings.Split(doc, "\n")
	keyLine := regexp.MustCompile(`^(\s*)` + regexp.QuoteMeta(key) + `:\s*(.*?)\s*(#.*)?$`)
	for i, line := range lines {
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if flow := m[2]; strings.HasPrefix(flow, "[") {
			for _, v := range strings.Split(strings.Trim(flow, "[]"), ",") {
				if v = strings.Trim(strings.TrimSpace(v), `"'`); v != "" {
					values = append(values, v)
				}
			}
			return values, true
		}
		for _, next := range lines[i+1:] {
			item := strings.TrimSpace(next)
			if item == "" || strings.HasPrefix(item, "#") {
				continue
			}
			if !strings.HasPrefix(item, "- ") || len(next)-len(strings.TrimLeft(next, " ")) < len(m[1]) {
				break
			}
			v := strings.TrimSpace(strings.TrimPrefix(item, "- "))
			if c := strings.Index(v, " #"); c >= 0 {
				v = strings.TrimSpace(v[:c])
			}
			values = append(values, strings.Trim(v, `"'`))
		}
		return values, true
	}
	return nil, false
}

func TestYAMLList(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{"a:\n  goos:\n    - linux\n    - \"darwin\" # mac\n\n    - windows\n  goarch: [x]\n", []string{"linux", "darwin", "windows"}},
		{"goos: [linux, 'darwin', windows]\n", []string{"linux", "darwin", "windows"}},
		{"goos:\n- linux\nnext: 1\n- stray\n", []string{"linux"}},
	} {
		if got, _ := yamlList(tc.doc, "goos"); !slices.Equal(got, tc.want) {
			t.Errorf("yamlList(%q) = %q, want %q", tc.doc, got, tc.want)
		}
	}
}

// TestGoreleaserPlatforms: release binaries for linux, darwin and windows on amd64 and
// arm64, static (CGO_ENABLED=0), with checksums, and no platform left out by an ignore.
func TestGoreleaserPlatforms(t *testing.T) {
	doc := readRoot(t, ".goreleaser.yaml")
	for key, want := range map[string][]string{
		"goos":   {"darwin", "linux", "windows"},
		"goarch": {"amd64", "arm64"},
		"env":    {"CGO_ENABLED=0"},
	} {
		got, found := yamlList(doc, key)
		slices.Sort(got)
		if !found || !slices.Equal(got, want) {
			t.Errorf(".goreleaser.yaml %s: %q, want %q", key, got, want)
		}
	}
	if strings.Contains(doc, "ignore:") {
		t.Errorf(".goreleaser.yaml has an ignore list: some platform would not be built")
	}
	for _, want := range []string{"version: 2", "main: ./cmd/scimd", "checksum:", "algorithm: sha256",
		"-X github.com/scimd/scimd/internal/cli.linkedVersion="} {
		if !strings.Contains(doc, want) {
			t.Errorf(".goreleaser.yaml lacks %q", want)
		}
	}
	// The variable the release and the Dockerfile set at link time exists.
	if !strings.Contains(readRoot(t, "internal/cli/version.go"), "\nvar linkedVersion string\n") {
		t.Errorf("internal/cli/version.go no longer declares linkedVersion, which -X sets")
	}
}

// TestDockerfile: a multi-stage build of a static binary with the Go of go.mod, run as a
// non-root user with a volume for the database.
func TestDockerfile(t *testing.T) {
	doc := readRoot(t, "Dockerfile")
	var instr []string // instructions, continuation lines joined, comments dropped
	for _, line := range strings.Split(strings.ReplaceAll(doc, "\\\n", " "), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			instr = append(instr, line)
		}
	}
	var froms []string
	user := ""
	has := map[string]bool{}
	for _, in := range instr {
		word, rest, _ := strings.Cut(in, " ")
		has[word] = true
		switch word {
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			user = rest
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a small final one", len(froms))
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readRoot(t, "go.mod"))
	if goVersion == nil || !strings.HasPrefix(froms[0], "golang:"+goVersion[1]+"-") && !strings.HasPrefix(froms[0], "golang:"+goVersion[1]+" ") {
		t.Errorf("build stage %q, want golang:%v (go.mod's go directive)", froms[0], goVersion)
	}
	if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && !strings.HasPrefix(last, "scratch") {
		t.Errorf("final stage %q, want distroless static or scratch", last)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0:") || user == "0" {
		t.Errorf("USER %q: the image must run as a non-root user", user)
	}
	if !strings.Contains(doc, "CGO_ENABLED=0") {
		t.Errorf("the binary is not built with CGO_ENABLED=0")
	}
	for _, w := range []string{"VOLUME", "ENTRYPOINT", "EXPOSE"} {
		if !has[w] {
			t.Errorf("Dockerfile has no %s", w)
		}
	}
	if !strings.Contains(doc, `VOLUME ["/var/lib/scimd"]`) || !strings.Contains(doc, "SCIMD_DB=/var/lib/scimd/") {
		t.Errorf("the database is not on the volume /var/lib/scimd")
	}
}

// TestCompose: PostgreSQL, two scimd instances on it, and one published port in front.
func TestCompose(t *testing.T) {
	doc := readRoot(t, "compose.yaml")
	for _, want := range []string{"image: postgres:", "SCIMD_DB: postgres://", "scimd-a: *scimd", "scimd-b: *scimd", "./deploy/nginx.conf:/etc/nginx/nginx.conf"} {
		if !strings.Contains(doc, want) {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}
	if ports, _ := yamlList(doc, "ports"); len(ports) != 1 || strings.Count(doc, "ports:") != 1 {
		t.Errorf("compose.yaml publishes %q, want one port", ports)
	}
	nginx := readRoot(t, "deploy/nginx.conf")
	for _, want := range []string{"server scimd-a:8080;", "server scimd-b:8080;", "proxy_pass http://scimd;"} {
		if !strings.Contains(nginx, want) {
			t.Errorf("deploy/nginx.conf lacks %q", want)
		}
	}
}
