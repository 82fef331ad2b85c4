# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-peers-d64/out_cos_vs_ratio.png'
set title 'Attention-output cosine vs compression (sample-t256-512.h5)' noenhanced
set xlabel 'compression ratio vs float16 (headers included)' noenhanced
set ylabel 'attention-output cosine cos(o, o_hat), mean over queries' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key bottom left box opaque noenhanced
set logscale x
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
3.555555556 0.9952133722
3.555555556 0.9957207262
EOD
$s1 << EOD
3.555555556 0.9957207262
EOD
$s2 << EOD
3.764705882 0.9954907909
4.923076923 0.9822504528
4.923076923 0.9841844355
7.111111111 0.9359988061
7.111111111 0.9402021316
7.111111111 0.944138097
12.8 0.7700432054
12.8 0.7860400511
12.8 0.7985971854
21.33333333 0.6015222466
21.33333333 0.5691802171
32 0.4274816163
EOD
$s3 << EOD
3.764705882 0.9954907909
4.923076923 0.9841844355
7.111111111 0.944138097
12.8 0.7985971854
21.33333333 0.6015222466
32 0.4274816163
EOD
$s4 << EOD
4 0.968619282
8 0.8904163085
8 0.9051108811
16 0.7255221149
EOD
$s5 << EOD
4 0.968619282
8 0.9051108811
16 0.7255221149
EOD
$s6 << EOD
3.2 0.997243463
3.555555556 0.9962689206
4.571428571 0.9828406042
5.333333333 0.9331986073
6.4 0.913045005
10.66666667 0.6702034766
EOD
$s7 << EOD
3.2 0.997243463
3.555555556 0.9962689206
4.571428571 0.9828406042
5.333333333 0.9331986073
6.4 0.913045005
10.66666667 0.6702034766
EOD
$s8 << EOD
3.764705882 0.8077029514
7.111111111 0.66994025
12.8 0.5043834189
21.33333333 0.3535228874
EOD
$s9 << EOD
3.764705882 0.8077029514
7.111111111 0.66994025
12.8 0.5043834189
21.33333333 0.3535228874
EOD
$s10 << EOD
3.764705882 0.994326043
4.923076923 0.9796970189
7.111111111 0.9282423155
12.8 0.7729124807
EOD
$s11 << EOD
3.764705882 0.994326043
4.923076923 0.9796970189
7.111111111 0.9282423155
12.8 0.7729124807
EOD
$s12 << EOD
3.555555556 0.9717093762
4.571428571 0.9104206694
6.4 0.7572204175
EOD
$s13 << EOD
3.555555556 0.9717093762
4.571428571 0.9104206694
6.4 0.7572204175
EOD
$s14 << EOD
3.2 0.997243463 int_b=4_G=32_per_channel_+_int_b=4_G=32_per_token
3.555555556 0.9962689206 int_b=4_G=64_per_channel_+_int_b=4_G=64_per_token
3.764705882 0.9954907909 fib_k=2_N=256
4.923076923 0.9841844355 fib_k=3_N=512
7.111111111 0.944138097 fib_k=4_N=256
8 0.9051108811 gsrq_plain_k-means_D=8_K=256_S=2
12.8 0.7985971854 fib_k=8_N=256
16 0.7255221149 gsrq_gain-shape_D=8_K=256_S=1
21.33333333 0.6015222466 fib_k=16_N=256
32 0.4274816163 fib_k=32_N=256
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'block', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'fib', \
     $s4 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'gsrq', \
     $s6 using 1:2 with points pt 7 ps 1.3 lc rgb '#9467bd' notitle, \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#9467bd' title 'int', \
     $s8 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s9 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'qjl', \
     $s10 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s11 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'scalar', \
     $s12 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s13 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'scalar+qjl', \
     $s14 using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title 'Pareto frontier', \
     $s14 using 1:2:3 with labels offset 0.6,0.6 font ',8' noenhanced notitle lc rgb '#000000'
unset output
