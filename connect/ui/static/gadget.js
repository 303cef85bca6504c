/* The Connect dashboard gadget: read its settings from its dashboard item property through AP.request (as the viewer), show the panel they name (fetched with the page token), or the settings form, saved back to the property. */
(function(w,d){
function r(){if(w.AP&&w.AP.resize)w.AP.resize()}
var g=d.querySelector("[data-gadget=connect]");
if(!g)return;
var f=g.querySelector("form[data-form=gadget-config]"),p=g.querySelector("[data-gadget-panel]"),n=g.querySelector("[data-gadget-note]"),c=null;
var u="/rest/api/3/dashboard/"+encodeURIComponent(g.dataset.dashboard)+"/items/"+encodeURIComponent(g.dataset.item)+"/properties/"+encodeURIComponent(g.dataset.property);
function say(t){n.textContent=t||"";n.hidden=!t;r()}
function edit(){if(c){["team","cycle","view"].forEach(function(k){if(f.elements[k]&&c[k]!=null)f.elements[k].value=c[k]})}f.hidden=false;if(!c)p.hidden=true;g.dataset.state="editing";r()}
function load(v){c=v;f.hidden=true;p.hidden=false;g.dataset.state="loading";
var q=new URLSearchParams({team:v.team||"",cycle:v.cycle||"",view:v.view==="compact"?"compact":"full"}),h={};
if(g.dataset.token)h.Authorization="JWT "+g.dataset.token;
fetch(g.dataset.panelUrl+(g.dataset.panelUrl.indexOf("?")<0?"?":"&")+q,{headers:h,credentials:"omit"}).then(function(a){if(!a.ok)throw new Error(String(a.status));return a.text()}).then(function(t){
var doc=new DOMParser().parseFromString(t,"text/html");
doc.querySelectorAll("script").forEach(function(s){s.remove()});
p.replaceChildren.apply(p,Array.prototype.map.call(doc.body.childNodes,function(x){return d.importNode(x,true)}));
g.dataset.state="ready";say("")}).catch(function(){g.dataset.state="error";say(g.dataset.msgNotLoaded)})}
function bind(j){if(j&&j.DashboardItem&&j.DashboardItem.onDashboardItemEdit)j.DashboardItem.onDashboardItemEdit(edit)}
f.addEventListener("submit",function(e){e.preventDefault();
var v={team:f.elements.team.value,cycle:f.elements.cycle.value,view:f.elements.view.value};
if(!w.AP||!w.AP.request){say(g.dataset.msgNoHost);return}
w.AP.request({url:u,type:"PUT",contentType:"application/json",data:JSON.stringify(v),success:function(){say("");load(v)},error:function(){say(g.dataset.msgNotSaved)}})});
w.addEventListener("load",function(){
if(!w.AP||!w.AP.request){p.hidden=true;say(g.dataset.msgNoHost);return}
if(w.AP.jira)bind(w.AP.jira);else if(w.AP.require)w.AP.require(["jira"],bind);
w.AP.request({url:u,type:"GET",success:function(t){var v=null;try{v=JSON.parse(t).value}catch(x){v=null}if(v&&v.team)load(v);else edit()},error:function(){edit()}})})
})(window,document);
