package plots

import (
	"math"

	"gonum.org/v1/plot/plotter"
)

// maxPoints is how many points a line keeps: about one per two pixels of
// a full-width panel.
const maxPoints = 600

// downsample reduces pts (sorted by X) to at most n points with
// Largest-Triangle-Three-Buckets: the first and last points stay; the
// others are split into n−2 buckets, and from each the point that makes
// the largest triangle with the point kept before it and the average of
// the next bucket is kept. Spikes make large triangles, so they survive,
// where taking every k-th point would drop most of them.
func downsample(pts plotter.XYs, n int) plotter.XYs {
	if n < 3 || len(pts) <= n {
		return pts
	}
	out := make(plotter.XYs, 0, n)
	out = append(out, pts[0])
	// Buckets over pts[1 : len-1].
	size := float64(len(pts)-2) / float64(n-2)
	prev := pts[0]
	for b := range n - 2 {
		lo := 1 + int(float64(b)*size)
		hi := min(1+int(float64(b+1)*size), len(pts)-1)
		// The next bucket's average (the last point for the last bucket).
		nlo, nhi := hi, min(1+int(float64(b+2)*size), len(pts)-1)
		var ax, ay float64
		if nlo >= nhi {
			ax, ay = pts[len(pts)-1].X, pts[len(pts)-1].Y
		} else {
			for _, p := range pts[nlo:nhi] {
				ax += p.X
				ay += p.Y
			}
			ax /= float64(nhi - nlo)
			ay /= float64(nhi - nlo)
		}
		best, bestArea := lo, -1.0
		for i := lo; i < hi; i++ {
			// Twice the triangle's area; the factor does not change the argmax.
			area := math.Abs((prev.X-ax)*(pts[i].Y-prev.Y) - (prev.X-pts[i].X)*(ay-prev.Y))
			if area > bestArea {
				best, bestArea = i, area
			}
		}
		prev = pts[best]
		out = append(out, prev)
	}
	return append(out, pts[len(pts)-1])
}
