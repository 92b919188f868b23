package bench

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
)

// RSS counts every resident page; PSS splits shared pages among the
// processes sharing them, so it can be summed. See bench/proc-memory.ts.

// RssBytes is VmRSS of pid ("self" for this process).
func RssBytes(pid string) (int64, error) { return procField("/proc/"+pid+"/status", "VmRSS") }

// PssBytes is Pss of pid ("self" for this process).
func PssBytes(pid string) (int64, error) { return procField("/proc/"+pid+"/smaps_rollup", "Pss") }

func procField(file, name string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + name + `:\s+(\d+) kB$`).FindSubmatch(data)
	if m == nil {
		return 0, fmt.Errorf("%s: no %s field", file, name)
	}
	kb, err := strconv.ParseInt(string(m[1]), 10, 64)
	return kb * 1024, err
}
