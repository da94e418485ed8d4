package classify_test

import (
	"context"
	"testing"
)

// BenchmarkClassifyPodWarm classifies a 3-image pod whose images are all cached: the cost every
// admission of a known workload pays.
func BenchmarkClassifyPodWarm(b *testing.B) {
	f := newFixture(b)
	c := f.classifier()
	pod := []string{f.plainTag, f.vllm, f.modelPack}
	if _, errs := c.ClassifyAll(context.Background(), f.policy, pod); errs[0] != nil || errs[1] != nil || errs[2] != nil {
		b.Fatal(errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.ClassifyAll(context.Background(), f.policy, pod)
	}
}

// BenchmarkClassifyPodCold classifies the same pod with an empty cache each time, against the
// in-process registry on loopback: manifest, config and signature lookups for every image.
func BenchmarkClassifyPodCold(b *testing.B) {
	f := newFixture(b)
	pod := []string{f.plainTag, f.vllm, f.modelPack}
	b.ReportAllocs()
	for b.Loop() {
		c := f.classifier()
		if _, errs := c.ClassifyAll(context.Background(), f.policy, pod); errs[0] != nil {
			b.Fatal(errs[0])
		}
	}
}
