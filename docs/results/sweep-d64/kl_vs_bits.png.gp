# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-d64/kl_vs_bits.png'
set title 'Attention KL vs rate (sample_kv_d64.h5)' noenhanced
set xlabel 'bits per coordinate (headers included)' noenhanced
set ylabel 'KL(p || p_hat), nats, mean over queries' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key top right box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
0.5 1.138613517
0.75 0.6984579626
0.75 0.7402525975
1.25 0.325186689
1.25 0.2995474823
1.25 0.2782470723
2.25 0.07334353115
2.25 0.07023468998
2.25 0.06842101467
3.25 0.02017989543
3.25 0.01822173946
4.25 0.005056921066
EOD
$s1 << EOD
0.5 1.138613517
0.75 0.6984579626
1.25 0.2782470723
2.25 0.06842101467
3.25 0.01822173946
4.25 0.005056921066
EOD
$s2 << EOD
1.25 0.3175651407
2.25 0.08137265775
3.25 0.02247735455
4.25 0.006340028435
EOD
$s3 << EOD
1.25 0.3175651407
2.25 0.08137265775
3.25 0.02247735455
4.25 0.006340028435
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'fib', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'scalar'
unset output
