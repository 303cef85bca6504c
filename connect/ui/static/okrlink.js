(function(w,d){
function r(){if(w.AP&&w.AP.resize)w.AP.resize()}
w.addEventListener("load",r);d.addEventListener("toggle",r,true);
function search(i,u,key,attr,make,choose){
var l=d.createElement("ul"),t=0,n=0;l.className="pick";l.setAttribute("role","listbox");l.setAttribute(attr,"");i.parentNode.insertBefore(l,i.nextSibling);
function clear(){while(l.firstChild)l.removeChild(l.firstChild)}
function offer(found){clear();found.forEach(function(p){var o=make(p);o.setAttribute("role","option");o.addEventListener("mousedown",function(e){e.preventDefault();choose(p);clear();r()});l.appendChild(o)});r()}
i.addEventListener("input",function(){clearTimeout(t);var q=i.value.trim(),k=++n;if(q.length<2){clear();return}
t=setTimeout(function(){w.fetch(u+"&q="+encodeURIComponent(q),{credentials:"same-origin"}).then(function(x){return x.ok?x.json():{}}).then(function(j){if(k===n)offer(j[key]||[])}).catch(clear)},200)});
i.addEventListener("blur",function(){setTimeout(clear,150)})}
function picker(i){var f=i.form,a=f.querySelector("input[name=owner_account]"),s=f.querySelector("input[name=owner_shown]");
search(i,i.getAttribute("data-person-picker"),"people","data-person-options",function(p){var o=el("li","",p.name);o.setAttribute("data-account",p.accountId);return o},function(p){i.value=p.name;a.value=p.accountId;s.value=p.name})}
function issues(i){var a=d.getElementById(i.getAttribute("data-issues-field"));
i.addEventListener("keydown",function(e){if(e.key==="Enter")e.preventDefault()});
search(i,i.getAttribute("data-issue-picker"),"issues","data-issue-options",function(p){var o=el("li","");o.setAttribute("data-issue",p.key);o.appendChild(el("span","key",p.key));o.appendChild(d.createTextNode(" "+p.summary));return o},
function(p){var have=a.value.split(/[\s,]+/).filter(function(x){return x});if(have.indexOf(p.key)<0)have.push(p.key);a.value=have.join("\n");i.value=""})}
function el(t,c,x,a){var e=d.createElement(t);e.className=c;e.textContent=x||"";if(a)e.setAttribute(a,"");return e}
function preview(b){b.addEventListener("click",function(e){var f=b.form,o=f.querySelector("[data-preview]"),u=b.getAttribute("formaction");if(!o)return;e.preventDefault();
w.fetch(u,{method:"POST",body:new FormData(f),credentials:"same-origin",headers:{Accept:"application/json"}}).then(function(x){return x.json().then(function(j){var m=j.message;
if(x.ok){o.setAttribute("data-preview-state",j.source_state);o.replaceChildren(el("span","mute",o.getAttribute("data-preview-label"))," ",el("output","",j.shown,"data-preview-value")," ",m?el("span","hint",m):"")}
else{o.removeAttribute("data-preview-state");o.replaceChildren(el("span","err",j.error&&j.error.message))}r()})}).catch(function(){f.action=u;f.submit()})})}
d.addEventListener("DOMContentLoaded",function(){Array.prototype.forEach.call(d.querySelectorAll("input[data-person-picker]"),picker);Array.prototype.forEach.call(d.querySelectorAll("input[data-issue-picker]"),issues);Array.prototype.forEach.call(d.querySelectorAll("button[data-preview-button]"),preview)})
})(window,document);
